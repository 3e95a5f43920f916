#include "common.h"
int main(int argc, char **argv) { char r[512]; if (ct_setup(argc, argv, r, sizeof r)) return 1; proc_cleanup(); return tlv_test_finish("x"); }
