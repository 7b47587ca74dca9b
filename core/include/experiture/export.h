/* Symbol visibility for the Experiture SDK shared library. */
#ifndef EXPERITURE_EXPORT_H
#define EXPERITURE_EXPORT_H

#if defined(EXPERITURE_STATIC)
#define EXPERITURE_API
#elif defined(_WIN32)
#if defined(EXPERITURE_BUILDING)
#define EXPERITURE_API __declspec(dllexport)
#else
#define EXPERITURE_API __declspec(dllimport)
#endif
#else
#define EXPERITURE_API __attribute__((visibility("default")))
#endif

#endif
