// JNI glue between com.experiture.sdk and the C ABI (experiture.h): natives registered in
// JNI_OnLoad, strings as UTF-8 byte arrays in both directions (never modified UTF-8), every JNI
// call checked, no Java exception left pending for the SDK, no C++ exception crossing into Java.
#include <jni.h>
#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "experiture/experiture.h"

namespace {

JavaVM* g_vm = nullptr;
pthread_key_t g_detach_key;
// NativeCallbacks methods, resolved once in JNI_OnLoad.
jmethodID g_send = nullptr;
jmethodID g_cancel_all = nullptr;
jmethodID g_close_http = nullptr;
jmethodID g_token = nullptr;
jmethodID g_on_event = nullptr;
jmethodID g_log = nullptr;
jmethodID g_phone_normalize = nullptr;
jclass g_byte_array_class = nullptr;  // global ref to byte[]

constexpr jint kJniVersion = JNI_VERSION_1_6;
constexpr int kInternal = EXPERITURE_INTERNAL;

// SDK threads attach on their first callback and detach when they exit (pthread key destructor),
// as daemons so that they never keep the JVM alive.
void detach_thread(void*) {
  if (g_vm != nullptr) g_vm->DetachCurrentThread();
}

JNIEnv* callback_env() {
  JNIEnv* env = nullptr;
  jint got = g_vm->GetEnv(reinterpret_cast<void**>(&env), kJniVersion);
  if (got == JNI_OK) return env;
  if (got != JNI_EDETACHED) return nullptr;
  JavaVMAttachArgs args{kJniVersion, const_cast<char*>("experiture-sdk"), nullptr};
  if (g_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void**>(&env), &args) != JNI_OK) {
    return nullptr;
  }
  pthread_setspecific(g_detach_key, env);
  return env;
}

// Clears a pending Java exception (callbacks catch their own; this is the last line).
bool clear_exception(JNIEnv* env) {
  if (!env->ExceptionCheck()) return false;
  env->ExceptionClear();
  return true;
}

// Local references made on attached native threads are only freed with a frame.
class LocalFrame {
 public:
  LocalFrame(JNIEnv* env, jint capacity) : env_(env), ok_(env->PushLocalFrame(capacity) == 0) {
    if (!ok_) clear_exception(env);
  }
  ~LocalFrame() {
    if (ok_) env_->PopLocalFrame(nullptr);
  }
  LocalFrame(const LocalFrame&) = delete;
  LocalFrame& operator=(const LocalFrame&) = delete;
  bool ok() const { return ok_; }

 private:
  JNIEnv* env_;
  bool ok_;
};

jbyteArray to_java(JNIEnv* env, const char* data, size_t length) {
  if (length > static_cast<size_t>(INT32_MAX)) return nullptr;
  jbyteArray array = env->NewByteArray(static_cast<jsize>(length));
  if (array == nullptr) {
    clear_exception(env);
    return nullptr;
  }
  if (length > 0) {
    env->SetByteArrayRegion(array, 0, static_cast<jsize>(length),
                            reinterpret_cast<const jbyte*>(data));
  }
  return array;
}

// A Java byte[] (UTF-8) as bytes; `present` false for null.
struct Bytes {
  std::string data;
  bool present = false;
  const char* ptr() const { return present ? data.data() : nullptr; }
  size_t size() const { return data.size(); }
};

bool from_java(JNIEnv* env, jbyteArray array, Bytes* out) {
  out->present = array != nullptr;
  out->data.clear();
  if (array == nullptr) return true;
  const jsize length = env->GetArrayLength(array);
  out->data.resize(static_cast<size_t>(length));
  if (length > 0) {
    env->GetByteArrayRegion(array, 0, length, reinterpret_cast<jbyte*>(&out->data[0]));
  }
  return !clear_exception(env);
}

// ---- callback tables: user_data is a global reference to a NativeCallbacks object ----

void release_callbacks(void* user_data) {
  JNIEnv* env = callback_env();
  if (env != nullptr) env->DeleteGlobalRef(static_cast<jobject>(user_data));
}

void release_http(void* user_data) {
  JNIEnv* env = callback_env();
  if (env == nullptr) return;
  env->CallVoidMethod(static_cast<jobject>(user_data), g_close_http);
  clear_exception(env);
  env->DeleteGlobalRef(static_cast<jobject>(user_data));
}

void complete_failed(experiture_http_completion_t* completion, const char* message) {
  experiture_http_response_t response;
  std::memset(&response, 0, sizeof response);
  response.error = EXPERITURE_TRANSPORT_OTHER;
  response.error_message = message;
  response.error_message_length = std::strlen(message);
  experiture_http_complete(completion, &response);
}

void http_send(void* user_data, const experiture_http_request_t* request,
               experiture_http_completion_t* completion) {
  JNIEnv* env = callback_env();
  if (env == nullptr) {
    complete_failed(completion, "cannot attach the thread to the JVM");
    return;
  }
  LocalFrame frame(env, static_cast<jint>(2 * request->header_count + 8));
  if (!frame.ok()) {
    complete_failed(completion, "JVM out of memory");
    return;
  }
  const jsize count = static_cast<jsize>(request->header_count);
  jobjectArray names = env->NewObjectArray(count, g_byte_array_class, nullptr);
  jobjectArray values = names ? env->NewObjectArray(count, g_byte_array_class, nullptr) : nullptr;
  bool ok = values != nullptr;
  for (jsize i = 0; ok && i < count; ++i) {
    const experiture_http_header_t& h = request->headers[i];
    jbyteArray name = to_java(env, h.name, h.name_length);
    jbyteArray value = to_java(env, h.value, h.value_length);
    ok = name != nullptr && value != nullptr;
    if (ok) {
      env->SetObjectArrayElement(names, i, name);
      env->SetObjectArrayElement(values, i, value);
      env->DeleteLocalRef(name);
      env->DeleteLocalRef(value);
      ok = !clear_exception(env);
    }
  }
  jbyteArray method = ok ? to_java(env, request->method, request->method_length) : nullptr;
  jbyteArray url = method ? to_java(env, request->url, request->url_length) : nullptr;
  jbyteArray body = url ? to_java(env, request->body, request->body_length) : nullptr;
  if (body == nullptr) {
    clear_exception(env);
    complete_failed(completion, "JVM out of memory");
    return;
  }
  // From here NativeCallbacks.send owns the completion (it never throws).
  env->CallVoidMethod(static_cast<jobject>(user_data), g_send, method, url, names, values, body,
                      static_cast<jlong>(request->timeout_ms),
                      static_cast<jlong>(reinterpret_cast<intptr_t>(completion)));
  clear_exception(env);
}

void http_cancel_all(void* user_data) {
  JNIEnv* env = callback_env();
  if (env == nullptr) return;
  env->CallVoidMethod(static_cast<jobject>(user_data), g_cancel_all);
  clear_exception(env);
}

void get_token(void* user_data, int refresh, experiture_token_sink_t* sink) {
  JNIEnv* env = callback_env();
  if (env == nullptr) return;
  LocalFrame frame(env, 4);
  if (!frame.ok()) return;
  auto token = static_cast<jbyteArray>(env->CallObjectMethod(
      static_cast<jobject>(user_data), g_token, refresh != 0 ? JNI_TRUE : JNI_FALSE));
  if (clear_exception(env) || token == nullptr) return;
  Bytes bytes;
  if (from_java(env, token, &bytes)) experiture_token_sink_write(sink, bytes.ptr(), bytes.size());
}

void on_event(void* user_data, const experiture_delivery_event_t* event) {
  JNIEnv* env = callback_env();
  if (env == nullptr) return;
  LocalFrame frame(env, 4);
  if (!frame.ok()) return;
  jbyteArray reason = to_java(env, event->reason, event->reason_length);
  if (reason == nullptr) return;
  env->CallVoidMethod(static_cast<jobject>(user_data), g_on_event, static_cast<jint>(event->type),
                      static_cast<jlong>(event->count), reason);
  clear_exception(env);
}

void log_line(void* user_data, int level, const char* message, size_t length) {
  JNIEnv* env = callback_env();
  if (env == nullptr) return;
  LocalFrame frame(env, 4);
  if (!frame.ok()) return;
  jbyteArray text = to_java(env, message, length);
  if (text == nullptr) return;
  env->CallVoidMethod(static_cast<jobject>(user_data), g_log, static_cast<jint>(level), text);
  clear_exception(env);
}

// ---- natives ----

experiture_config_t* config_of(jlong handle) {
  return reinterpret_cast<experiture_config_t*>(static_cast<intptr_t>(handle));
}

experiture_client_t* client_of(jlong handle) {
  return reinterpret_cast<experiture_client_t*>(static_cast<intptr_t>(handle));
}

jlong native_config_new(JNIEnv*, jclass) {
  experiture_config_t* config = nullptr;
  if (experiture_config_new(&config) != EXPERITURE_OK) return 0;
  return static_cast<jlong>(reinterpret_cast<intptr_t>(config));
}

void native_config_free(JNIEnv*, jclass, jlong config) {
  experiture_config_free(config_of(config));
}

// The options of experiture/config_options.inc by name: the Java builder passes the option's name
// (e.g. "batch_size"), so Java holds no option numbers and every setter here comes from the table.
using TextSetter = experiture_status_t (*)(experiture_config_t*, const char*, size_t);
using LongSetter = experiture_status_t (*)(experiture_config_t*, jlong);

struct ConfigOption {
  const char* name;
  const char* kind;
  const char* java;
  TextSetter text;    // STRING, BYTES, KEYS
  LongSetter number;  // SIZE, MS, FLAG, CONSENT
};

#define EXPERITURE_JNI_TEXT(name)                                \
  [](experiture_config_t* c, const char* value, size_t length) { \
    return experiture_config_set_##name(c, value, length);       \
  }
#define EXPERITURE_JNI_OPTION_STRING(name) EXPERITURE_JNI_TEXT(name), nullptr
#define EXPERITURE_JNI_OPTION_BYTES(name) EXPERITURE_JNI_TEXT(name), nullptr
#define EXPERITURE_JNI_OPTION_KEYS(name) EXPERITURE_JNI_TEXT(name), nullptr
#define EXPERITURE_JNI_OPTION_SIZE(name)                                            \
  nullptr, [](experiture_config_t* c, jlong value) {                                \
    return value < 0 ? EXPERITURE_INVALID_ARGUMENT                                  \
                     : experiture_config_set_##name(c, static_cast<size_t>(value)); \
  }
#define EXPERITURE_JNI_OPTION_MS(name) \
  nullptr,                             \
      [](experiture_config_t* c, jlong value) { return experiture_config_set_##name(c, value); }
#define EXPERITURE_JNI_OPTION_FLAG(name)                        \
  nullptr, [](experiture_config_t* c, jlong value) {            \
    return experiture_config_set_##name(c, value != 0 ? 1 : 0); \
  }
#define EXPERITURE_JNI_OPTION_CONSENT(name)                                                 \
  nullptr, [](experiture_config_t* c, jlong value) {                                        \
    return value < 0 || value > EXPERITURE_CONSENT_STATE_DENIED                             \
               ? EXPERITURE_INVALID_ARGUMENT                                                \
               : experiture_config_set_##name(c, static_cast<experiture_consent_t>(value)); \
  }
// Set through their own natives (configSetIdentityKeys, configSetRetryPolicy, the callbacks).
#define EXPERITURE_JNI_OPTION_OBJECT_KEYS(name) nullptr, nullptr
#define EXPERITURE_JNI_OPTION_RETRY(name) nullptr, nullptr
#define EXPERITURE_JNI_OPTION_TABLE(name) nullptr, nullptr
#define EXPERITURE_CONFIG_OPTION(name, kind, member, default_text, java, swift, doc) \
  {#name, #kind, java, EXPERITURE_JNI_OPTION_##kind(name)},
const ConfigOption kConfigOptions[] = {
#include "experiture/config_options.inc"
};
#undef EXPERITURE_CONFIG_OPTION

const ConfigOption* find_option(const Bytes& name) {
  for (const ConfigOption& option : kConfigOptions) {
    if (name.data == option.name) return &option;
  }
  return nullptr;
}

jint native_config_set_string(JNIEnv* env, jclass, jlong handle, jbyteArray name,
                              jbyteArray value) {
  Bytes n, v;
  if (!from_java(env, name, &n) || !from_java(env, value, &v)) return kInternal;
  const ConfigOption* option = find_option(n);
  if (option == nullptr || option->text == nullptr) return EXPERITURE_INVALID_ARGUMENT;
  return option->text(config_of(handle), v.ptr(), v.size());
}

jint native_config_set_long(JNIEnv* env, jclass, jlong handle, jbyteArray name, jlong value) {
  Bytes n;
  if (!from_java(env, name, &n)) return kInternal;
  const ConfigOption* option = find_option(n);
  if (option == nullptr || option->number == nullptr) return EXPERITURE_INVALID_ARGUMENT;
  return option->number(config_of(handle), value);
}

// The table as text, one option a line: "name KIND javaNames" (ConfigOptionsTest compares the
// Java builder with it).
jbyteArray native_config_options(JNIEnv* env, jclass) {
  std::string text;
  for (const ConfigOption& option : kConfigOptions) {
    text += std::string(option.name) + ' ' + option.kind + ' ' + option.java + '\n';
  }
  return to_java(env, text.data(), text.size());
}

jint native_config_set_identity_keys(JNIEnv* env, jclass, jlong handle, jbyteArray object,
                                     jbyteArray keys) {
  Bytes o, k;
  if (!from_java(env, object, &o) || !from_java(env, keys, &k)) return kInternal;
  return experiture_config_set_identity_keys(config_of(handle), o.ptr(), o.size(), k.ptr(),
                                             k.size());
}

jint native_config_set_retry_policy(JNIEnv*, jclass, jlong handle, jlong base_ms, jdouble factor,
                                    jlong cap_ms) {
  return experiture_config_set_retry_policy(config_of(handle), base_ms, factor, cap_ms);
}

void phone_normalize(void* user_data, const char* raw, size_t raw_length, const char* region,
                     size_t region_length, experiture_phone_sink_t* sink) {
  JNIEnv* env = callback_env();
  if (env == nullptr) return;
  LocalFrame frame(env, 6);
  if (!frame.ok()) return;
  jbyteArray raw_array = to_java(env, raw, raw_length);
  jbyteArray region_array = to_java(env, region, region_length);
  if (raw_array == nullptr || region_array == nullptr) return;
  auto e164 = static_cast<jbyteArray>(env->CallObjectMethod(
      static_cast<jobject>(user_data), g_phone_normalize, raw_array, region_array));
  if (clear_exception(env) || e164 == nullptr) return;
  Bytes bytes;
  if (from_java(env, e164, &bytes)) experiture_phone_sink_write(sink, bytes.ptr(), bytes.size());
}

jint native_config_set_phone_normalizer(JNIEnv* env, jclass, jlong handle, jobject normalizer) {
  if (normalizer == nullptr) return EXPERITURE_INVALID_ARGUMENT;
  experiture_phone_normalizer_t table{};
  table.version = EXPERITURE_PHONE_NORMALIZER_VERSION;
  table.user_data = env->NewGlobalRef(normalizer);
  table.destroy = release_callbacks;
  table.normalize = phone_normalize;
  if (table.user_data == nullptr) return kInternal;
  return experiture_config_set_phone_normalizer(config_of(handle), &table);
}

// One global reference per table: each table's destroy() releases its own.
void* new_ref(JNIEnv* env, jobject callbacks) {
  return env->NewGlobalRef(callbacks);
}

jint native_config_set_callbacks(JNIEnv* env, jclass, jlong handle, jobject callbacks,
                                 jboolean http, jboolean tokens, jboolean listener,
                                 jboolean logger) {
  experiture_config_t* c = config_of(handle);
  if (callbacks == nullptr) return EXPERITURE_INVALID_ARGUMENT;
  if (http) {
    experiture_http_client_t table{};
    table.version = EXPERITURE_HTTP_CLIENT_VERSION;
    table.user_data = new_ref(env, callbacks);
    table.destroy = release_http;
    table.send = http_send;
    table.cancel_all = http_cancel_all;
    if (table.user_data == nullptr) return kInternal;
    jint status = experiture_config_set_http_client(c, &table);
    if (status != EXPERITURE_OK) return status;
  }
  if (tokens) {
    experiture_token_provider_t table{};
    table.version = EXPERITURE_TOKEN_PROVIDER_VERSION;
    table.user_data = new_ref(env, callbacks);
    table.destroy = release_callbacks;
    table.get_token = get_token;
    if (table.user_data == nullptr) return kInternal;
    jint status = experiture_config_set_token_provider(c, &table);
    if (status != EXPERITURE_OK) return status;
  }
  if (listener) {
    experiture_delivery_listener_t table{};
    table.version = EXPERITURE_DELIVERY_LISTENER_VERSION;
    table.user_data = new_ref(env, callbacks);
    table.destroy = release_callbacks;
    table.on_event = on_event;
    if (table.user_data == nullptr) return kInternal;
    jint status = experiture_config_set_delivery_listener(c, &table);
    if (status != EXPERITURE_OK) return status;
  }
  if (logger) {
    experiture_logger_t table{};
    table.version = EXPERITURE_LOGGER_VERSION;
    table.user_data = new_ref(env, callbacks);
    table.destroy = release_callbacks;
    table.log = log_line;
    if (table.user_data == nullptr) return kInternal;
    jint status = experiture_config_set_logger(c, &table);
    if (status != EXPERITURE_OK) return status;
  }
  return EXPERITURE_OK;
}

jint native_open(JNIEnv* env, jclass, jlong config, jlongArray out) {
  if (out == nullptr || env->GetArrayLength(out) < 1) return EXPERITURE_INVALID_ARGUMENT;
  experiture_client_t* client = nullptr;
  experiture_status_t status = experiture_client_open(config_of(config), &client);
  if (status != EXPERITURE_OK) return status;
  const jlong handle = static_cast<jlong>(reinterpret_cast<intptr_t>(client));
  env->SetLongArrayRegion(out, 0, 1, &handle);
  if (clear_exception(env)) {
    experiture_client_free(client);
    return kInternal;
  }
  return EXPERITURE_OK;
}

jint native_close(JNIEnv*, jclass, jlong client, jlong timeout_ms) {
  return experiture_client_close(client_of(client), timeout_ms);
}

void native_free(JNIEnv*, jclass, jlong client) {
  experiture_client_free(client_of(client));
}

jint native_upsert(JNIEnv* env, jclass, jlong client, jbyteArray object, jbyteArray record,
                   jbyteArray match_key) {
  Bytes o, r, k;
  if (!from_java(env, object, &o) || !from_java(env, record, &r) ||
      !from_java(env, match_key, &k)) {
    return kInternal;
  }
  return experiture_client_upsert(client_of(client), o.ptr(), o.size(), r.ptr(), r.size(), k.ptr(),
                                  k.size());
}

jint native_append(JNIEnv* env, jclass, jlong client, jbyteArray object, jbyteArray record) {
  Bytes o, r;
  if (!from_java(env, object, &o) || !from_java(env, record, &r)) return kInternal;
  return experiture_client_append(client_of(client), o.ptr(), o.size(), r.ptr(), r.size());
}

jint native_login(JNIEnv* env, jclass, jlong client, jbyteArray email, jbyteArray customer_id,
                  jbyteArray phone) {
  Bytes e, c, p;
  if (!from_java(env, email, &e) || !from_java(env, customer_id, &c) ||
      !from_java(env, phone, &p)) {
    return kInternal;
  }
  return experiture_client_login(client_of(client), e.ptr(), e.size(), c.ptr(), c.size(), p.ptr(),
                                 p.size());
}

jint native_logout(JNIEnv*, jclass, jlong client) {
  return experiture_client_logout(client_of(client));
}

jint native_set_push_token(JNIEnv* env, jclass, jlong client, jbyteArray token) {
  Bytes t;
  if (!from_java(env, token, &t)) return kInternal;
  return experiture_client_set_push_token(client_of(client), t.ptr(), t.size());
}

jint native_set_consent(JNIEnv*, jclass, jlong client, jint consent) {
  return experiture_client_set_consent(client_of(client),
                                       static_cast<experiture_consent_t>(consent));
}

jint native_persist(JNIEnv*, jclass, jlong client, jlong timeout_ms) {
  return experiture_client_persist(client_of(client), timeout_ms);
}

jint native_flush(JNIEnv*, jclass, jlong client, jlong timeout_ms) {
  return experiture_client_flush(client_of(client), timeout_ms);
}

jint native_pump(JNIEnv*, jclass, jlong client) {
  return experiture_client_pump(client_of(client));
}

jint native_hint(JNIEnv*, jclass, jlong handle, jint hint) {
  experiture_client_t* c = client_of(handle);
  switch (hint) {
    case 0:
      return experiture_client_on_background(c);
    case 1:
      return experiture_client_on_foreground(c);
    case 2:
      return experiture_client_set_online(c, 1);
    case 3:
      return experiture_client_set_online(c, 0);
    case 4:
      return experiture_client_pause(c);
    case 5:
      return experiture_client_resume(c);
    default:
      return EXPERITURE_INVALID_ARGUMENT;
  }
}

jint native_retry_dead_letters(JNIEnv*, jclass, jlong client) {
  return experiture_client_retry_dead_letters(client_of(client));
}

jint native_purge_dead_letters(JNIEnv*, jclass, jlong client) {
  return experiture_client_purge_dead_letters(client_of(client));
}

// Returns the SDK's owned text as byte[] and the status in status_out[0].
jbyteArray text_result(JNIEnv* env, experiture_status_t status, char* text, size_t length,
                       jintArray status_out) {
  jbyteArray result = nullptr;
  if (status == EXPERITURE_OK) {
    result = to_java(env, text, length);
    if (result == nullptr) status = EXPERITURE_INTERNAL;
  }
  experiture_string_free(text);
  const jint code = status;
  if (status_out != nullptr && env->GetArrayLength(status_out) >= 1) {
    env->SetIntArrayRegion(status_out, 0, 1, &code);
    clear_exception(env);
  }
  return result;
}

jbyteArray native_stats(JNIEnv* env, jclass, jlong client, jintArray status_out) {
  char* text = nullptr;
  size_t length = 0;
  experiture_status_t status = experiture_client_stats(client_of(client), &text, &length);
  return text_result(env, status, text, length, status_out);
}

jbyteArray native_dead_letters(JNIEnv* env, jclass, jlong client, jlong limit,
                               jintArray status_out) {
  char* text = nullptr;
  size_t length = 0;
  experiture_status_t status = experiture_client_dead_letters(
      client_of(client), limit < 0 ? 0 : static_cast<size_t>(limit), &text, &length);
  return text_result(env, status, text, length, status_out);
}

jbyteArray native_device_id(JNIEnv* env, jclass, jlong client, jintArray status_out) {
  char* text = nullptr;
  size_t length = 0;
  experiture_status_t status = experiture_client_device_id(client_of(client), &text, &length);
  return text_result(env, status, text, length, status_out);
}

jbyteArray native_last_error(JNIEnv* env, jclass) {
  size_t length = 0;
  const char* message = experiture_last_error(&length);
  return to_java(env, message, length);
}

jint native_http_complete(JNIEnv* env, jclass, jlong handle, jint status, jobjectArray names,
                          jobjectArray values, jbyteArray body, jint error, jbyteArray message) {
  auto* completion = reinterpret_cast<experiture_http_completion_t*>(static_cast<intptr_t>(handle));
  if (completion == nullptr) return EXPERITURE_INVALID_ARGUMENT;
  Bytes body_bytes, message_bytes;
  std::vector<Bytes> header_bytes;
  bool ok = from_java(env, body, &body_bytes) && from_java(env, message, &message_bytes);
  const jsize count = ok && names != nullptr && values != nullptr
                          ? std::min(env->GetArrayLength(names), env->GetArrayLength(values))
                          : 0;
  header_bytes.resize(static_cast<size_t>(2 * count));
  for (jsize i = 0; ok && i < count; ++i) {
    auto name = static_cast<jbyteArray>(env->GetObjectArrayElement(names, i));
    auto value = static_cast<jbyteArray>(env->GetObjectArrayElement(values, i));
    ok = !clear_exception(env) && from_java(env, name, &header_bytes[2 * i]) &&
         from_java(env, value, &header_bytes[2 * i + 1]);
    if (name != nullptr) env->DeleteLocalRef(name);
    if (value != nullptr) env->DeleteLocalRef(value);
  }
  if (!ok) {
    complete_failed(completion, "cannot read the Java response");
    return kInternal;
  }
  std::vector<experiture_http_header_t> headers(static_cast<size_t>(count));
  for (jsize i = 0; i < count; ++i) {
    const Bytes& n = header_bytes[2 * i];
    const Bytes& v = header_bytes[2 * i + 1];
    headers[i] = {n.data.data(), n.size(), v.data.data(), v.size()};
  }
  experiture_http_response_t response;
  std::memset(&response, 0, sizeof response);
  response.status = status;
  response.headers = headers.data();
  response.header_count = headers.size();
  response.body = body_bytes.data.data();
  response.body_length = body_bytes.size();
  response.error = error;
  response.error_message = message_bytes.data.data();
  response.error_message_length = message_bytes.size();
  return experiture_http_complete(completion, &response);
}

// Everything JNI_OnLoad finds by name comes from jni_names.inc (the Android keep-rule check reads
// the same file).
struct ClassName {
  const char* id;
  const char* name;
};
struct MethodName {
  const char* class_id;
  jmethodID* out;
  const char* name;
  const char* signature;
};
struct NativeName {
  const char* class_id;
  JNINativeMethod method;
};

#define EXPERITURE_JNI_CLASS(id, name) {#id, name},
#define EXPERITURE_JNI_METHOD(class_id, global, name, signature)
#define EXPERITURE_JNI_NATIVE(class_id, name, signature, fn)
const ClassName kClasses[] = {
#include "jni_names.inc"
};
#undef EXPERITURE_JNI_CLASS
#undef EXPERITURE_JNI_METHOD
#undef EXPERITURE_JNI_NATIVE

#define EXPERITURE_JNI_CLASS(id, name)
#define EXPERITURE_JNI_METHOD(class_id, global, name, signature) \
  {#class_id, &global, name, signature},
#define EXPERITURE_JNI_NATIVE(class_id, name, signature, fn)
const MethodName kMethods[] = {
#include "jni_names.inc"
};
#undef EXPERITURE_JNI_CLASS
#undef EXPERITURE_JNI_METHOD
#undef EXPERITURE_JNI_NATIVE

#define EXPERITURE_JNI_CLASS(id, name)
#define EXPERITURE_JNI_METHOD(class_id, global, name, signature)
#define EXPERITURE_JNI_NATIVE(class_id, name, signature, fn) \
  {#class_id, {const_cast<char*>(name), const_cast<char*>(signature), reinterpret_cast<void*>(fn)}},
const NativeName kNatives[] = {
#include "jni_names.inc"
};
#undef EXPERITURE_JNI_CLASS
#undef EXPERITURE_JNI_METHOD
#undef EXPERITURE_JNI_NATIVE

constexpr size_t kClassCount = sizeof kClasses / sizeof kClasses[0];

// The class named `id` in kClasses, from `found` (same order); nullptr if unknown.
jclass class_of(const char* id, const jclass (&found)[kClassCount]) {
  for (size_t i = 0; i < kClassCount; ++i) {
    if (std::strcmp(kClasses[i].id, id) == 0) return found[i];
  }
  return nullptr;
}

// FindClass for every class, GetMethodID for every method, RegisterNatives per class.
bool resolve_names(JNIEnv* env) {
  jclass found[kClassCount] = {};
  for (size_t i = 0; i < kClassCount; ++i) {
    found[i] = env->FindClass(kClasses[i].name);
    if (found[i] == nullptr) return false;
  }
  jclass byte_array = class_of("byte_array", found);
  if (byte_array == nullptr) return false;
  g_byte_array_class = static_cast<jclass>(env->NewGlobalRef(byte_array));
  if (g_byte_array_class == nullptr) return false;
  for (const MethodName& method : kMethods) {
    jclass cls = class_of(method.class_id, found);
    if (cls == nullptr) return false;
    *method.out = env->GetMethodID(cls, method.name, method.signature);
    if (*method.out == nullptr || clear_exception(env)) return false;
  }
  for (size_t i = 0; i < kClassCount; ++i) {
    std::vector<JNINativeMethod> natives;
    for (const NativeName& native : kNatives) {
      if (std::strcmp(native.class_id, kClasses[i].id) == 0) natives.push_back(native.method);
    }
    if (natives.empty()) continue;
    if (env->RegisterNatives(found[i], natives.data(), static_cast<jint>(natives.size())) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" JNIEXPORT jint JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), kJniVersion) != JNI_OK) return JNI_ERR;
  g_vm = vm;
  if (pthread_key_create(&g_detach_key, detach_thread) != 0) return JNI_ERR;
  if (!resolve_names(env)) {
    clear_exception(env);
    return JNI_ERR;
  }
  return kJniVersion;
}
