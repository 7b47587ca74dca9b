/* The C ABI of the Experiture SDK as seen by Swift (experiture/ links to core/include). */
#include "experiture/experiture.h"
