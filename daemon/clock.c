/* placeholder: being written */
typedef int placeholder_clock_t;
