/* placeholder: being written */
typedef int placeholder_duration_t;
