#include <stdio.h>

#include "pqtls/mlkem.h"

int main(void)
{
    printf("pqtls (backend %s)\n", pqt_backend_name(pqt_mlkem_get_backend()));
    return 0;
}
