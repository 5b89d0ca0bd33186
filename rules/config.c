/* placeholder: being written */
typedef int placeholder_config_t;
