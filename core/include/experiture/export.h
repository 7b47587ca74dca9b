/* Symbol visibility for the Experiture SDK shared library. Everything is compiled with hidden
 * visibility; only declarations marked EXPERITURE_API are exported. */
#ifndef EXPERITURE_EXPORT_H
#define EXPERITURE_EXPORT_H

#if defined(_WIN32)
#if defined(EXPERITURE_STATIC)
#define EXPERITURE_API
#elif defined(EXPERITURE_BUILDING)
#define EXPERITURE_API __declspec(dllexport)
#else
#define EXPERITURE_API __declspec(dllimport)
#endif
#else
#define EXPERITURE_API __attribute__((visibility("default")))
#endif

/* Marks internals nested in exported classes (Client::Impl) as not exported. */
#if defined(_WIN32)
#define EXPERITURE_HIDDEN
#else
#define EXPERITURE_HIDDEN __attribute__((visibility("hidden")))
#endif

#endif
