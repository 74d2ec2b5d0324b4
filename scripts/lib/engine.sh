# Sourced by scripts/test after env.sh (and after ensure_venv): llama-cpp-python's
# OpenAI-compatible server in .venv, the external inference engine that tests/tiny_engine.py
# starts on a tiny GGUF model made by the tests.
#
#   ensure_llama_engine   install llama-cpp-python[server]==$LLAMA_CPP_VERSION into .venv
#
# PyPI has only the source of llama-cpp-python, so the first install compiles llama.cpp: CPU
# only, portable (no -march=native, no AVX), at -O1 (the test models are tiny), without
# llama.cpp's common library, tools, tests, examples, multimodal (mtmd) library and OpenMP,
# which the Python bindings do not use. That takes about 200 s of CPU (under 2 minutes on 2 idle
# cores); pip keeps the wheel in its cache (~/.cache/pip), so installing it again (a new .venv)
# takes seconds. CMAKE_BUILD_PARALLEL_LEVEL sets the compile jobs (default: nproc).
# With CI=true a failed install is an error; otherwise the tests that need the engine skip.

LLAMA_CPP_VERSION="0.3.36"

_llama_engine_installed() {
  "$VENV/bin/python" - "$LLAMA_CPP_VERSION" <<'PY' 2>/dev/null
import importlib.metadata, importlib.util, sys
sys.exit(importlib.metadata.version("llama_cpp_python") != sys.argv[1] or any(
    importlib.util.find_spec(name) is None
    for name in ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")))
PY
}

_llama_engine_failed() {
  [ "${CI:-}" = "true" ] && die "$1"
  say "$1: the tests that need the inference engine skip"
  return 1
}

ensure_llama_engine() {
  _llama_engine_installed && return 0
  command -v cc >/dev/null && command -v c++ >/dev/null \
    || _llama_engine_failed "llama-cpp-python needs a C and C++ compiler (apt-get install g++)" || return 0
  say "installing llama-cpp-python $LLAMA_CPP_VERSION (the tests' inference engine) into .venv; the first time, compiling llama.cpp takes a few minutes"
  local include status=0
  # llama-cpp-python forces LLAMA_BUILD_COMMON=ON (a cache variable); a normal variable set in
  # llama.cpp's own directory scope, right after its project(), turns it off again.
  include="$(mktemp --suffix=.cmake)"
  printf 'set(LLAMA_BUILD_COMMON OFF)\n' >"$include"
  CMAKE_ARGS="-DCMAKE_PROJECT_llama.cpp_INCLUDE=$include -DLLAVA_BUILD=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
-DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF -DGGML_NATIVE=OFF \
-DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_BMI2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF \
'-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG' '-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG'" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "llama-cpp-python[server]==$LLAMA_CPP_VERSION" \
    || status=$?
  rm -f "$include"
  [ "$status" = 0 ] && _llama_engine_installed && return 0
  _llama_engine_failed "could not install llama-cpp-python $LLAMA_CPP_VERSION" || return 0
}
