# package.cmake: where `make install` puts vigil, and the .deb and .rpm that
# `cmake --build build --target package` makes from it (CPack).  Included by
# the top CMakeLists.txt.
#
#   /usr/sbin/vigild, /usr/bin/vigil, /usr/lib/vigil/libvigil-heavy.so
#     (vigild finds the module at ../lib/vigil from itself: agent/plugin_dl.c)
#   /etc/vigil/vigil.conf    packaging/vigil.conf; a conffile
#                            (%config(noreplace)), 0640 root:vigil
#   /etc/vigil/conf.d/       the admin's @include files
#   /usr/lib/systemd/system/vigild.service, /usr/lib/sysusers.d/vigil.conf,
#   /usr/lib/tmpfiles.d/vigil.conf
#   /usr/share/man/man{1,5,8}/, /usr/share/bash-completion/completions/vigil
#   /usr/share/doc/vigil/    README, BACKUP-FORMAT, WEBHOOK, the example
#                            configuration, copyright, changelog
#
# The packages' version is the project's; VIGIL_PACKAGE_RELEASE is the
# package revision (Debian's -N, RPM's Release).  Runtime dependencies come
# from dpkg-shlibdeps and rpm's automatic requires, none typed here.  The
# maintainer scripts are packaging/deb/ and packaging/rpm/.  A package is
# built for the /usr prefix whatever CMAKE_INSTALL_PREFIX says; the unit
# names /usr/sbin/vigild, so `make install` under another prefix needs a
# drop-in for ExecStart= (vigild finds its module under any prefix).
#
# SPDX-License-Identifier: BSD-2-Clause

set(VIGIL_PACKAGE_RELEASE 1 CACHE STRING "package revision (deb -N, rpm Release)")
set(VIGIL_PACKAGE_CONTACT "vigil maintainers <vigil@example.org>" CACHE STRING
	"Maintainer of the packages")

install(TARGETS vigild RUNTIME DESTINATION sbin)
install(TARGETS vigil RUNTIME DESTINATION bin)
install(TARGETS vigil_heavy_module LIBRARY DESTINATION lib/vigil
	PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# `make install` never replaces a configuration that is there (the packages
# stage into an empty DESTDIR, so they always carry it).
install(CODE "set(conf \"\$ENV{DESTDIR}/etc/vigil/vigil.conf\")
	if(EXISTS \"\${conf}\")
		message(STATUS \"Kept: \${conf}\")
	else()
		file(INSTALL ${CMAKE_SOURCE_DIR}/packaging/vigil.conf
			DESTINATION /etc/vigil
			FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
	endif()")
install(DIRECTORY DESTINATION /etc/vigil/conf.d)
install(FILES packaging/systemd/vigild.service
	DESTINATION lib/systemd/system)
install(FILES packaging/systemd/vigil.sysusers DESTINATION lib/sysusers.d
	RENAME vigil.conf)
install(FILES packaging/systemd/vigil.tmpfiles DESTINATION lib/tmpfiles.d
	RENAME vigil.conf)
install(FILES packaging/completion/vigil.bash
	DESTINATION share/bash-completion/completions RENAME vigil)
# bash-completion loads a command's file by its name: vigild's is vigil's.
install(CODE "file(CREATE_LINK vigil
	\"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/share/bash-completion/completions/vigild\"
	SYMBOLIC)")

# Man pages (roff, packaging/man/NAME.SECTION), compressed as Debian wants.
find_program(VIGIL_GZIP gzip REQUIRED)
file(GLOB VIGIL_MAN_SRC CONFIGURE_DEPENDS packaging/man/*.[0-9])
set(VIGIL_MAN_GZ)
foreach(src ${VIGIL_MAN_SRC})
	get_filename_component(name ${src} NAME)
	string(REGEX REPLACE ".*\\.([0-9])$" "\\1" sect ${name})
	set(gz ${CMAKE_BINARY_DIR}/man/${name}.gz)
	add_custom_command(OUTPUT ${gz}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
		COMMAND ${VIGIL_GZIP} -9nc ${src} > ${gz}
		DEPENDS ${src} VERBATIM)
	list(APPEND VIGIL_MAN_GZ ${gz})
	install(FILES ${gz} DESTINATION share/man/man${sect})
endforeach()
add_custom_target(man ALL DEPENDS ${VIGIL_MAN_GZ})

# /usr/share/doc/vigil/
set(VIGIL_DOCDIR share/doc/vigil)
install(FILES README.md docs/BACKUP-FORMAT.md docs/WEBHOOK.md
	conf/vigil.conf.example DESTINATION ${VIGIL_DOCDIR})
file(READ ${CMAKE_SOURCE_DIR}/LICENSE lic)
string(REGEX REPLACE "\n$" "" lic "${lic}")
string(REGEX REPLACE "\n\n" "\n.\n" lic "${lic}")
string(REGEX REPLACE "\n" "\n " LICENSE_TEXT " ${lic}")
configure_file(packaging/deb/copyright.in ${CMAKE_BINARY_DIR}/pkg/copyright
	@ONLY)
install(FILES ${CMAKE_BINARY_DIR}/pkg/copyright DESTINATION ${VIGIL_DOCDIR})
# A changelog for the package, dated by the commit (reproducible).
set(CPACK_PACKAGE_CONTACT ${VIGIL_PACKAGE_CONTACT})
set(VIGIL_PACKAGE_VERSION ${PROJECT_VERSION}-${VIGIL_PACKAGE_RELEASE})
execute_process(COMMAND git log -1 --format=%cD
	WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE VIGIL_CHANGELOG_DATE
	RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rc EQUAL 0 OR VIGIL_BUILD_COMMIT STREQUAL "unknown")
	string(TIMESTAMP VIGIL_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
configure_file(packaging/deb/changelog.in ${CMAKE_BINARY_DIR}/pkg/changelog
	@ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/pkg/changelog.Debian.gz
	COMMAND ${VIGIL_GZIP} -9nc ${CMAKE_BINARY_DIR}/pkg/changelog >
		${CMAKE_BINARY_DIR}/pkg/changelog.Debian.gz
	DEPENDS ${CMAKE_BINARY_DIR}/pkg/changelog VERBATIM)
add_custom_target(pkg_changelog ALL
	DEPENDS ${CMAKE_BINARY_DIR}/pkg/changelog.Debian.gz)
install(FILES ${CMAKE_BINARY_DIR}/pkg/changelog.Debian.gz
	DESTINATION ${VIGIL_DOCDIR})

# CPack: one .deb and one .rpm.
set(CPACK_GENERATOR DEB RPM)
set(CPACK_PACKAGE_NAME vigil)
set(CPACK_PACKAGE_VENDOR "the vigil authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"Monitoring and backup agent for Linux hosts")
set(CPACK_PACKAGE_DESCRIPTION "vigil watches a host (CPU, memory, disks, \
processes),\nalerts through webhooks with a durable spool, and makes encrypted \
backups\nto a local folder, S3, Azure Blob Storage or Google Cloud Storage.\n\
vigild is the daemon, run by systemd as user vigil; vigil is the\n\
command-line tool for status, backups and restores.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)

set(CPACK_DEBIAN_PACKAGE_RELEASE ${VIGIL_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The module's undefined symbols are vigild's (it exports them).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS /usr/lib/vigil)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
	${CMAKE_SOURCE_DIR}/packaging/deb/conffiles
	${CMAKE_SOURCE_DIR}/packaging/deb/postinst
	${CMAKE_SOURCE_DIR}/packaging/deb/prerm
	${CMAKE_SOURCE_DIR}/packaging/deb/postrm)

set(CPACK_RPM_PACKAGE_RELEASE ${VIGIL_PACKAGE_RELEASE})
set(CPACK_RPM_PACKAGE_LICENSE BSD-2-Clause)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_AUTOPROV OFF)
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none
%define packager ${VIGIL_PACKAGE_CONTACT}")
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/pre)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/post)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/preun)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE
	${CMAKE_SOURCE_DIR}/packaging/rpm/postun)
set(CPACK_RPM_USER_FILELIST
	"%config(noreplace) %attr(0640,root,vigil) /etc/vigil/vigil.conf"
	"%dir /etc/vigil/conf.d"
	"%doc /usr/share/doc/vigil/README.md"
	"%doc /usr/share/doc/vigil/BACKUP-FORMAT.md"
	"%doc /usr/share/doc/vigil/WEBHOOK.md"
	"%doc /usr/share/doc/vigil/vigil.conf.example"
	"%doc /usr/share/doc/vigil/copyright"
	"%doc /usr/share/doc/vigil/changelog.Debian.gz")
# Folders other packages own.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /etc /usr/sbin
	/usr/lib/systemd /usr/lib/systemd/system /usr/lib/sysusers.d
	/usr/lib/tmpfiles.d /usr/share/man /usr/share/man/man1
	/usr/share/man/man5 /usr/share/man/man8 /usr/share/bash-completion
	/usr/share/bash-completion/completions /usr/share/doc)
include(CPack)
