# Included from tests/CMakeLists.txt.
# Fuzzing (clang + libFuzzer): cmake -DRUNLOG_BUILD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14
if(RUNLOG_BUILD_FUZZ)
  add_executable(wal_reader_fuzzer ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/wal_reader_fuzz.cc)
  target_link_options(wal_reader_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(wal_reader_fuzzer PRIVATE runlog_format)
  add_executable(path_fuzzer ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/path_fuzz.cc)
  target_link_options(path_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(path_fuzzer PRIVATE runlog_engine)
endif()

# Writes the fuzz corpus seeds: wal_fuzz_seeds tests/fuzz/corpus/wal_reader
add_executable(wal_fuzz_seeds ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/make_seeds.cc)
target_link_libraries(wal_fuzz_seeds PRIVATE runlog_format)
