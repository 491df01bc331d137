# GitCommit.cmake: vigil_git_commit(DIR VAR) sets VAR to the commit the
# source tree DIR was checked out at, as `git describe --always --dirty`
# prints it (a tag, or 12 hex digits, "-dirty" when files differ), or to
# "unknown" when DIR is not the top of a git work tree (a release tarball,
# even one unpacked inside another repository) or git is missing.
#   cmake -DDIR=... -P GitCommit.cmake   prints the answer (tests/).
#
# SPDX-License-Identifier: BSD-2-Clause

function(vigil_git_commit dir var)
	set(commit unknown)
	find_program(VIGIL_GIT git)
	if(VIGIL_GIT)
		execute_process(COMMAND ${VIGIL_GIT} rev-parse --show-toplevel
			WORKING_DIRECTORY ${dir} OUTPUT_VARIABLE top
			RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE
			ERROR_QUIET)
		if(rc EQUAL 0)
			get_filename_component(top "${top}" REALPATH)
			get_filename_component(real "${dir}" REALPATH)
		endif()
		if(rc EQUAL 0 AND top STREQUAL real)
			execute_process(COMMAND ${VIGIL_GIT} describe --always
				--dirty --abbrev=12
				WORKING_DIRECTORY ${dir} OUTPUT_VARIABLE out
				RESULT_VARIABLE rc
				OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
			if(rc EQUAL 0 AND NOT out STREQUAL "")
				set(commit ${out})
			endif()
		endif()
	endif()
	set(${var} ${commit} PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND DIR)
	vigil_git_commit(${DIR} c)
	message(NOTICE ${c})
endif()
