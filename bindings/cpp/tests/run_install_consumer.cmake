# ctest cpp_install_consumer: installs BUILD_DIR into WORK/prefix, then configures, builds and
# runs the C++ consumer project (find_package(tasks) + tasks::cpp) against that prefix.
#   cmake -DBUILD_DIR= -DCONSUMER= -DWORK= [-DCXX=] [-DGENERATOR=] -P run_install_consumer.cmake
foreach(_v BUILD_DIR CONSUMER WORK)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_install_consumer.cmake: -D${_v}= missing")
  endif()
endforeach()
set(_gen)
if(GENERATOR)
  set(_gen -G "${GENERATOR}")
endif()
set(_cxx)
if(CXX)
  set(_cxx "-DCMAKE_CXX_COMPILER=${CXX}")
endif()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc})")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK}")
step(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${WORK}/prefix")
file(GLOB_RECURSE _hpp "${WORK}/prefix/*/tasks.hpp")
if(NOT _hpp)
  message(FATAL_ERROR "tasks.hpp was not installed")
endif()
step(configure "${CMAKE_COMMAND}" -S "${CONSUMER}" -B "${WORK}/build" ${_gen} ${_cxx}
     -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
step(build "${CMAKE_COMMAND}" --build "${WORK}/build")
step(run "${WORK}/build/consumer_cpp")
