# Included from tests/CMakeLists.txt.
# Fuzzing (clang + libFuzzer): cmake -DRUNLOG_BUILD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14
set(RUNLOG_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
# The line -> operation code of `runlog log`, which the log_lines target feeds.
set(RUNLOG_LOG_OPS_SOURCES ${CMAKE_SOURCE_DIR}/tools/log_ops.cc)

if(RUNLOG_BUILD_FUZZ)
  add_executable(wal_reader_fuzzer ${RUNLOG_FUZZ_DIR}/wal_reader_fuzz.cc)
  target_link_options(wal_reader_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(wal_reader_fuzzer PRIVATE runlog_format)
  add_executable(path_fuzzer ${RUNLOG_FUZZ_DIR}/path_fuzz.cc)
  target_link_options(path_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(path_fuzzer PRIVATE runlog_engine)
  add_executable(log_lines_fuzzer ${RUNLOG_FUZZ_DIR}/log_lines_fuzz.cc ${RUNLOG_LOG_OPS_SOURCES})
  target_link_options(log_lines_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(log_lines_fuzzer PRIVATE runlog_engine CLI11::CLI11)
  add_executable(ingest_fuzzer ${RUNLOG_FUZZ_DIR}/ingest_fuzz.cc)
  target_link_options(ingest_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(ingest_fuzzer PRIVATE runlog_engine)
endif()

# The corpora of the targets no suite links, replayed as tests of their own (a binary holds
# one LLVMFuzzerTestOneInput): runlog_corpus_tests(NAME TARGET SOURCES...).
function(runlog_corpus_tests name target)
  add_executable(${name} ${ARGN} ${RUNLOG_FUZZ_DIR}/corpus_replay_test.cc)
  target_compile_definitions(${name} PRIVATE RUNLOG_FUZZ_CORPUS_DIR="${RUNLOG_FUZZ_DIR}/corpus"
                                             RUNLOG_FUZZ_TARGET="${target}")
  target_link_libraries(${name} PRIVATE runlog_engine CLI11::CLI11 GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS fuzz)
endfunction()
runlog_corpus_tests(log_lines_corpus_tests log_lines ${RUNLOG_FUZZ_DIR}/log_lines_fuzz.cc
                    ${RUNLOG_LOG_OPS_SOURCES})
runlog_corpus_tests(ingest_corpus_tests ingest ${RUNLOG_FUZZ_DIR}/ingest_fuzz.cc)

# Writes the fuzz corpus seeds: wal_fuzz_seeds tests/fuzz/corpus/wal_reader
add_executable(wal_fuzz_seeds ${RUNLOG_FUZZ_DIR}/make_seeds.cc)
target_link_libraries(wal_fuzz_seeds PRIVATE runlog_format)
# stream_fuzz_seeds tests/fuzz/corpus/log_lines tests/fuzz/corpus/ingest
add_executable(stream_fuzz_seeds ${RUNLOG_FUZZ_DIR}/make_stream_seeds.cc)
target_link_libraries(stream_fuzz_seeds PRIVATE runlog_format)
