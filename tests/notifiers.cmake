# Tests of notifiers/ (included from tests/CMakeLists.txt).
add_cmocka_test(test_email SOURCES unit/test_email.c LINK escalator_notifiers)
add_cmocka_test(test_webhook SOURCES unit/test_webhook.c LINK escalator_notifiers)
add_cmocka_test(test_notifier SOURCES unit/test_notifier.c LINK escalator_notifiers)
# The option tests record every curl_easy_setopt call the module makes.
target_link_options(test_email PRIVATE -Wl,--wrap=curl_easy_setopt)
target_link_options(test_webhook PRIVATE -Wl,--wrap=curl_easy_setopt)
# Where the test servers (tests/harness) live when SRCDIR is not in the environment.
target_compile_definitions(test_notifier PRIVATE ESCALATOR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_cmocka_test(test_channels SOURCES unit/test_channels.c LINK escalator_notifiers)
# The delivery channels against servers on 127.0.0.1 that speak each protocol.
add_integration_test(integration_channels test_channels.py)
