# SPDX-License-Identifier: BSD-2-Clause
# WebAssets.cmake (included by CMakeLists.txt): the web page.
#
# Its files and uPlot's, which npm ci
# puts in agent/httpd/www/node_modules (packaging/setup.sh) at the version
# www/package-lock.json pins, written into a C file at build time and
# compiled into the module (never into vigild).
set(VIGIL_WWW ${CMAKE_SOURCE_DIR}/agent/httpd/www)
set(VIGIL_UPLOT ${VIGIL_WWW}/node_modules/uplot)
file(STRINGS ${VIGIL_WWW}/package.json want REGEX "\"uplot\": ")
string(REGEX REPLACE ".*\"uplot\": \"([^\"]+)\".*" "\\1" want "${want}")
if(EXISTS ${VIGIL_UPLOT}/package.json)
	file(STRINGS ${VIGIL_UPLOT}/package.json have REGEX "^  \"version\": ")
	string(REGEX REPLACE ".*\"version\": \"([^\"]+)\".*" "\\1" have
		"${have}")
else()
	set(have "none")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
	${VIGIL_WWW}/package.json)
if(EXISTS ${VIGIL_UPLOT}/package.json)
	set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
		${VIGIL_UPLOT}/package.json)
endif()
if(NOT have STREQUAL want)
	message(FATAL_ERROR "the web page needs uPlot ${want} in "
		"${VIGIL_UPLOT} (found: ${have}): run packaging/setup.sh, or "
		"`npm ci` in agent/httpd/www")
endif()
set(VIGIL_ASSETS
	"/|text/html|${VIGIL_WWW}/index.html"
	"/assets/app.js|text/javascript|${VIGIL_WWW}/app.js"
	"/assets/app.css|text/css|${VIGIL_WWW}/app.css"
	"/assets/uPlot.iife.min.js|text/javascript|${VIGIL_UPLOT}/dist/uPlot.iife.min.js"
	"/assets/uPlot.min.css|text/css|${VIGIL_UPLOT}/dist/uPlot.min.css")
set(files)
foreach(a ${VIGIL_ASSETS})
	string(REGEX REPLACE ".*\\|" "" f "${a}")
	list(APPEND files ${f})
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/agent/httpd/assets.cmake.new
	"set(VIGIL_ASSETS \"${VIGIL_ASSETS}\")\n")
configure_file(${CMAKE_BINARY_DIR}/agent/httpd/assets.cmake.new
	${CMAKE_BINARY_DIR}/agent/httpd/assets.cmake COPYONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/agent/httpd/assets_data.c
	COMMAND ${CMAKE_COMMAND}
		-DMANIFEST=${CMAKE_BINARY_DIR}/agent/httpd/assets.cmake
		-DOUT=${CMAKE_BINARY_DIR}/agent/httpd/assets_data.c
		-P ${CMAKE_SOURCE_DIR}/cmake/EmbedAssets.cmake
	DEPENDS ${files} ${CMAKE_BINARY_DIR}/agent/httpd/assets.cmake
		${CMAKE_SOURCE_DIR}/cmake/EmbedAssets.cmake
	COMMENT "Embedding the web page (agent/httpd/www)" VERBATIM)
target_sources(vigil_heavy PRIVATE
	${CMAKE_BINARY_DIR}/agent/httpd/assets_data.c)
