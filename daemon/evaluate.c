/* placeholder: being written */
typedef int placeholder_evaluate_t;
