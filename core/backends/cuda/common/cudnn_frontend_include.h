// cudnn-frontend, with the settings trtorch builds it with (no JSON library; its unused static
// functions do not warn). Heavy to compile: include it only in the files that build cuDNN graphs
// (conv.cpp, attention.cpp).
#pragma once

#define CUDNN_FRONTEND_SKIP_JSON_LIB
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <cudnn_frontend.h>
#pragma GCC diagnostic pop
