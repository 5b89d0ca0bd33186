/* placeholder: being written */
typedef int placeholder_eval_t;
