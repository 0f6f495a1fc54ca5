# The OCPP message model: C++ types generated at build time from the OCA JSON schemas by
# tools/ocpp-codegen/ocpp_codegen.py (never committed).
#
#   include(cmake/OcppModel.cmake)
#   csms_ocpp_model(TARGET csms_ocpp_v201 VERSION v201 SCHEMAS ${PROJECT_SOURCE_DIR}/schemas/ocpp201)
#
# makes a static library whose headers are csms/ocpp/<VERSION>/<action>.h (request and response),
# types.h (shared types) and messages.h (all of them). The list of files comes from the generator
# at configure time; editing a schema or the generator regenerates, and files whose text did not
# change keep their time stamps, so only the messages that changed are recompiled (Ninja re-stats
# custom command outputs).
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(CSMS_OCPP_CODEGEN "${CMAKE_CURRENT_LIST_DIR}/../tools/ocpp-codegen/ocpp_codegen.py")
get_filename_component(CSMS_OCPP_CODEGEN "${CSMS_OCPP_CODEGEN}" ABSOLUTE)

function(csms_ocpp_model)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "TARGET;VERSION;SCHEMAS" "")
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/${arg_TARGET}_gen")
  file(GLOB schemas CONFIGURE_DEPENDS "${arg_SCHEMAS}/*.json")
  # Re-run configure when the generator changes, since it decides the file list.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CSMS_OCPP_CODEGEN}")
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" "${CSMS_OCPP_CODEGEN}" --schemas "${arg_SCHEMAS}"
            --version "${arg_VERSION}" --list
    OUTPUT_VARIABLE relative_files
    ERROR_VARIABLE codegen_error
    RESULT_VARIABLE codegen_result
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT codegen_result EQUAL 0)
    message(FATAL_ERROR "ocpp_codegen failed for ${arg_SCHEMAS}: ${codegen_error}")
  endif()
  set(outputs "")
  set(sources "")
  foreach(rel IN LISTS relative_files)
    list(APPEND outputs "${out_dir}/${rel}")
    if(rel MATCHES "\\.cc$")
      list(APPEND sources "${out_dir}/${rel}")
    endif()
  endforeach()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND "${Python3_EXECUTABLE}" "${CSMS_OCPP_CODEGEN}" --schemas "${arg_SCHEMAS}"
            --version "${arg_VERSION}" --out "${out_dir}"
    DEPENDS ${schemas} "${CSMS_OCPP_CODEGEN}"
    COMMENT "Generating the OCPP ${arg_VERSION} message model"
    VERBATIM)
  add_library(${arg_TARGET} STATIC ${sources})
  target_include_directories(${arg_TARGET} PUBLIC "${out_dir}")
  target_link_libraries(${arg_TARGET} PUBLIC csms_ocpp_model_support)
  # Half of each generated file's compile time is parsing nlohmann/json.hpp: parse it once.
  target_precompile_headers(${arg_TARGET} PRIVATE <nlohmann/json.hpp> <optional> <span> <string>
                            <string_view> <vector>)
  # Generated code is not formatted by hand; keep its warnings quiet but its errors loud.
  target_compile_options(${arg_TARGET} PRIVATE -Wno-unused-parameter)
endfunction()
