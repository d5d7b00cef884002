# ctest cpp_tests_<compiler>: configures, builds and runs this directory's tests as a separate
# project with the compiler CXX, against the already built library.
#   cmake -DCXX= -DSRC= -DBIN= -DTASKS_SHARED_LIBRARY= -DTASKS_INCLUDE_DIR= -DCTEST= [-DGENERATOR=]
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

step(configure "${CMAKE_COMMAND}" -S "${SRC}" -B "${BIN}" ${_gen}
     -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=${CXX}"
     "-DTASKS_SHARED_LIBRARY=${TASKS_SHARED_LIBRARY}" "-DTASKS_INCLUDE_DIR=${TASKS_INCLUDE_DIR}")
step(build "${CMAKE_COMMAND}" --build "${BIN}" -j 2)
step(ctest "${CTEST}" --output-on-failure)
