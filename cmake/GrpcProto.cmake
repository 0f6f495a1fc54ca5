# add_grpc_proto_library(<target> IMPORT_DIR <dir> PROTOS <paths relative to IMPORT_DIR>...
#                        [DEPENDS <other proto library targets>])
# Generates C++ message and gRPC service code into the build tree (never committed).
function(add_grpc_proto_library target)
  cmake_parse_arguments(ARG "" "IMPORT_DIR" "PROTOS;DEPENDS;EXTRA_IMPORT_DIRS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(import_flags --proto_path=${ARG_IMPORT_DIR})
  foreach(dir IN LISTS ARG_EXTRA_IMPORT_DIRS)
    list(APPEND import_flags --proto_path=${dir})
  endforeach()
  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(gen ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h ${out_dir}/${stem}.grpc.pb.cc
            ${out_dir}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${gen}
      COMMAND protobuf::protoc ${import_flags} --cpp_out=${out_dir} --grpc_out=${out_dir}
              --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
              ${ARG_IMPORT_DIR}/${proto}
      DEPENDS ${ARG_IMPORT_DIR}/${proto} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${proto}" VERBATIM)
    list(APPEND srcs ${gen})
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${out_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${ARG_DEPENDS})
  foreach(dep IN LISTS ARG_DEPENDS)
    add_dependencies(${target} ${dep})
  endforeach()
endfunction()
