# Run by CTest before each fuzz test (cmake -DSEEDS=... -DWORK=... -DARTIFACTS=... -P this):
# copy the seed corpus from the source tree into the build directory, where libFuzzer may add to
# it, and make the directory crash reproducers are written to.
file(MAKE_DIRECTORY "${WORK}" "${ARTIFACTS}")
file(GLOB seeds "${SEEDS}/*")
if(seeds)
  file(COPY ${seeds} DESTINATION "${WORK}")
endif()
