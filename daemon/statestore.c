/* placeholder: being written */
typedef int placeholder_statestore_t;
