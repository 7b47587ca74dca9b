// The Experiture SDK as an Android library module, built from source with the Android Gradle
// Plugin: the Java SDK (bindings/java) + com.experiture.sdk.android, and the native libraries
// from the root CMakeLists.txt (externalNativeBuild) with bundled SQLite and mbedTLS.
// NOT exercised on this project's machines (no Android SDK/NDK there); see README.md.
//
// In the app's settings.gradle.kts:
//   include(":experiture")
//   project(":experiture").projectDir = file("third_party/experiture/bindings/android")
// and in the app's build.gradle.kts:
//   dependencies { implementation(project(":experiture")) }
plugins {
  id("com.android.library")
}

android {
  namespace = "com.experiture.sdk"
  compileSdk = 34

  defaultConfig {
    minSdk = 21
    consumerProguardFiles("proguard.txt")
    externalNativeBuild {
      cmake {
        arguments += listOf(
          "-DEXPERITURE_BUNDLED_DEPS=ON",
          "-DEXPERITURE_WITH_CURL=OFF",
          "-DEXPERITURE_WITH_PHONENUMBER=OFF",
          "-DEXPERITURE_WITH_SWIFT=OFF",
          "-DEXPERITURE_BUILD_TESTS=OFF",
          "-DEXPERITURE_BUILD_TOOLS=OFF",
          "-DEXPERITURE_BUILD_SAMPLES=OFF",
          "-DANDROID_STL=c++_static",
        )
        targets += listOf("experiture", "experiture_jni")
      }
    }
    ndk {
      abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
    }
  }

  externalNativeBuild {
    cmake {
      path = file("../../CMakeLists.txt")
      version = "3.22.1"
    }
  }

  sourceSets["main"].apply {
    java.srcDirs("../java/src/main/java", "src/main/java")
    manifest.srcFile("AndroidManifest.xml")
  }

  compileOptions {
    sourceCompatibility = JavaVersion.VERSION_1_8
    targetCompatibility = JavaVersion.VERSION_1_8
  }
}

dependencies {
  // ExperitureFlushWorker extends androidx.work.Worker.
  implementation("androidx.work:work-runtime:2.9.1")
}
