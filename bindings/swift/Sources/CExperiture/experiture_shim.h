/* The C ABI of the Experiture SDK as seen by Swift; found through -Xcc -I<dir of experiture/>. */
#include <experiture/experiture.h>
