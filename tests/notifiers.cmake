# Tests of notifiers/ (included from tests/CMakeLists.txt).

# add_curlrec_test(NAME SOURCES ...): a test of notifiers/ that records every curl_easy_setopt
# call the module makes (tests/unit/curlrec.c, the one recorder).
function(add_curlrec_test name)
  add_cmocka_test(${name} SOURCES ${ARGN} unit/curlrec.c LINK escalator_notifiers)
  target_link_options(${name} PRIVATE -Wl,--wrap=curl_easy_setopt)
endfunction()

add_curlrec_test(test_email unit/test_email.c)
add_curlrec_test(test_webhook unit/test_webhook.c)
add_curlrec_test(test_http unit/test_http.c)
# The end-to-end tests share one fixture: a notifier on a real event loop, and test servers.
add_cmocka_test(test_notifier SOURCES unit/test_notifier.c unit/notifier_fixture.c
  LINK escalator_notifiers)
add_cmocka_test(test_oauth SOURCES unit/test_oauth.c unit/notifier_fixture.c
  LINK escalator_notifiers)
# Where the test servers (tests/harness) live when SRCDIR is not in the environment.
target_compile_definitions(test_notifier PRIVATE ESCALATOR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_compile_definitions(test_oauth PRIVATE ESCALATOR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_cmocka_test(test_channels SOURCES unit/test_channels.c LINK escalator_notifiers)
add_curlrec_test(test_govuk_notify unit/test_govuk_notify.c)
# The delivery channels against servers on 127.0.0.1 that speak each protocol.
add_integration_test(integration_channels test_channels.py)
