# ctest cpp_tests_<compiler>[_debug]: configures, builds and runs this directory's tests as a
# separate project with the compiler CXX, against the already built library. Also used by
# sanitize.sh (CXXFLAGS, LDFLAGS).
#   cmake -DCXX= -DSRC= -DBIN= -DTASKS_SHARED_LIBRARY= -DTASKS_INCLUDE_DIR= -DCTEST= [-DGENERATOR=]
#         [-DBUILD_TYPE=Release|Debug] [-DCXXFLAGS=] [-DLDFLAGS=] [-DJOBS=2]
#         -P run_other_compiler.cmake
foreach(_v CXX SRC BIN TASKS_SHARED_LIBRARY TASKS_INCLUDE_DIR CTEST)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_other_compiler.cmake: -D${_v}= missing")
  endif()
endforeach()
file(MAKE_DIRECTORY "${BIN}")
set(_gen)
if(GENERATOR)
  set(_gen -G "${GENERATOR}")
endif()

function(step what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${BIN}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc})")
  endif()
endfunction()

if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()
if(NOT JOBS)
  set(JOBS 2)
endif()
step(configure "${CMAKE_COMMAND}" -S "${SRC}" -B "${BIN}" ${_gen}
     "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}" "-DCMAKE_CXX_COMPILER=${CXX}"
     "-DCMAKE_CXX_FLAGS=${CXXFLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LDFLAGS}"
     "-DTASKS_SHARED_LIBRARY=${TASKS_SHARED_LIBRARY}" "-DTASKS_INCLUDE_DIR=${TASKS_INCLUDE_DIR}")
step(build "${CMAKE_COMMAND}" --build "${BIN}" -j ${JOBS})
step(ctest "${CTEST}" --output-on-failure)
