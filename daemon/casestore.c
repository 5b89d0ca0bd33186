/* placeholder: being written */
typedef int placeholder_casestore_t;
