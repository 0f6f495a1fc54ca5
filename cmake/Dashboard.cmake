# The operator dashboard (dashboard/): bundled with esbuild from dashboard/node_modules at build
# time and embedded into a target, so the gateway serves it with no files and no internet.
#
#   include(${PROJECT_SOURCE_DIR}/cmake/Dashboard.cmake)
#   csms_dashboard_bundle(TARGET csms_gateway)   # -> csms/embedded/dashboard_files.h
#
# dashboard/node_modules comes from `npm ci --prefix dashboard` (scripts/build.sh runs it).
# Without it (a build with no Node.js, such as the container image) the page is a placeholder
# that says how to build the real one, and configuring warns.
#
# The offline base map (land and country borders, drawn when no tile server is configured) is
# basemap.json, made by dashboard/tools/basemap.js with Node.js from world-atlas's Natural Earth
# 1:10m countries (simplified to 0.76 MB) and served as /assets/basemap.json. Without it (an
# older dashboard/node_modules) the map falls back to a plain grid, and configuring warns.
include(${CMAKE_CURRENT_LIST_DIR}/EmbedFiles.cmake)

function(csms_dashboard_bundle)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "TARGET" "")
  set(source_dir "${PROJECT_SOURCE_DIR}/dashboard")
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/dashboard")
  set(outputs "${out_dir}/index.html" "${out_dir}/app.js" "${out_dir}/app.css")
  set(esbuild "${source_dir}/node_modules/.bin/esbuild")
  file(MAKE_DIRECTORY "${out_dir}")
  if(EXISTS "${esbuild}")
    file(GLOB sources CONFIGURE_DEPENDS "${source_dir}/src/*")
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND "${esbuild}" "${source_dir}/src/main.js" --bundle --minify --target=es2020
              --loader:.png=dataurl --loader:.svg=dataurl --log-level=warning
              "--outfile=${out_dir}/app.js"
      COMMAND "${CMAKE_COMMAND}" -E copy "${source_dir}/src/index.html" "${out_dir}/index.html"
      DEPENDS ${sources} "${source_dir}/package-lock.json" "${esbuild}"
      COMMENT "Bundling the dashboard (esbuild)"
      VERBATIM)
    find_program(CSMS_NODE node)
    set(countries "${source_dir}/node_modules/world-atlas/countries-10m.json")
    set(basemap_script "${source_dir}/tools/basemap.js")
    if(CSMS_NODE AND EXISTS "${countries}"
       AND EXISTS "${source_dir}/node_modules/topojson-simplify/package.json")
      add_custom_command(
        OUTPUT "${out_dir}/basemap.json"
        COMMAND "${CSMS_NODE}" "${basemap_script}" "${countries}" "${out_dir}/basemap.json"
        DEPENDS "${basemap_script}" "${countries}" "${source_dir}/package-lock.json"
        COMMENT "Making the dashboard's offline base map (Natural Earth)"
        VERBATIM)
      list(APPEND outputs "${out_dir}/basemap.json")
    else()
      message(WARNING "dashboard/node_modules has no world-atlas / topojson-simplify, or node is "
                      "missing (run: npm ci --prefix dashboard); without a tile server the map "
                      "will show a plain grid instead of land and borders")
    endif()
    # A changed lockfile means a new `npm ci`: configure again to see what it installed.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                 "${source_dir}/package-lock.json")
  else()
    message(WARNING "dashboard/node_modules is missing (run: npm ci --prefix dashboard); "
                    "the gateway will serve a placeholder page instead of the dashboard")
    file(WRITE "${out_dir}/index.html"
         "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>CSMS</title>"
         "<p>This gateway was built without the dashboard bundle. Run "
         "<code>npm ci --prefix dashboard</code> and rebuild.</p></html>\n")
    file(WRITE "${out_dir}/app.js" "\n")
    file(WRITE "${out_dir}/app.css" "\n")
  endif()
  csms_embed_generated_files(TARGET ${arg_TARGET} NAME dashboard_files FILES ${outputs})
endfunction()
