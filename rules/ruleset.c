/* placeholder: being written */
typedef int placeholder_ruleset_t;
