/* placeholder: being written */
typedef int placeholder_date_t;
