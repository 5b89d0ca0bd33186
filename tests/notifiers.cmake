# Tests of notifiers/ (included from tests/CMakeLists.txt): one test file per module.

# add_notifier_test(NAME SOURCES ... [CURLREC]): a test of notifiers/. CURLREC: it records every
# curl_easy_setopt call the module makes (tests/unit/curlrec.c, the one recorder).
function(add_notifier_test name)
  cmake_parse_arguments(T "CURLREC" "" "" ${ARGN})
  if(T_CURLREC)
    add_cmocka_test(${name} SOURCES ${T_UNPARSED_ARGUMENTS} unit/curlrec.c LINK escalator_notifiers)
    target_link_options(${name} PRIVATE -Wl,--wrap=curl_easy_setopt)
  else()
    add_cmocka_test(${name} SOURCES ${T_UNPARSED_ARGUMENTS} LINK escalator_notifiers)
  endif()
  # Where the test servers (tests/harness) live when SRCDIR is not in the environment.
  target_compile_definitions(${name} PRIVATE ESCALATOR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()

# unit/notifier_fixture.c: the shared fixtures (a sample alert, a notifier on a real event loop,
# test servers on 127.0.0.1).
set(NOTIFIER_FIXTURE unit/notifier_fixture.c)
add_notifier_test(test_email unit/test_email.c ${NOTIFIER_FIXTURE} CURLREC)
add_notifier_test(test_digest unit/test_digest.c ${NOTIFIER_FIXTURE})
add_notifier_test(test_http unit/test_http.c CURLREC)
add_notifier_test(test_webhook unit/test_webhook.c ${NOTIFIER_FIXTURE} CURLREC)
add_notifier_test(test_govuk_notify unit/test_govuk_notify.c ${NOTIFIER_FIXTURE} CURLREC)
add_notifier_test(test_chat unit/test_chat.c ${NOTIFIER_FIXTURE})
add_notifier_test(test_ratelimit unit/test_ratelimit.c)
add_notifier_test(test_oauth unit/test_oauth.c ${NOTIFIER_FIXTURE})
add_notifier_test(test_notifier unit/test_notifier.c ${NOTIFIER_FIXTURE})
# The delivery channels against servers on 127.0.0.1 that speak each protocol.
add_integration_test(integration_channels test_channels.py)
