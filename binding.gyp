{
  "targets": [
    {
      "target_name": "dpzo",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/core').filter(f=>f.endsWith('.cpp')).map(f=>'native/core/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/cpu').filter(f=>f.endsWith('.cpp')&&!/_avx(2|512)\\.cpp$/.test(f)).map(f=>'native/cpu/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/napi').filter(f=>f.endsWith('.cpp')).map(f=>'native/napi/'+f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include", "native"],
      "dependencies": ["dpzo_avx2", "dpzo_avx512"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "DPZO_BACKENDS=\"cpu\""],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-frtti", "-fno-strict-aliasing"]
    },
    {
      "target_name": "dpzo_avx2",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/cpu').filter(f=>/_avx2\\.cpp$/.test(f)).map(f=>'native/cpu/'+f).join(' ')\")"],
      "include_dirs": ["native/include", "native"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fPIC", "-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "dpzo_avx512",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/cpu').filter(f=>/_avx512\\.cpp$/.test(f)).map(f=>'native/cpu/'+f).join(' ')\")"],
      "include_dirs": ["native/include", "native"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fPIC", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c"]
    }
  ]
}
