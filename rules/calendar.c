/* placeholder: being written */
typedef int placeholder_calendar_t;
