/* placeholder: being written */
typedef int placeholder_log_t;
