// cudnn-frontend, with the settings trtorch builds it with (its JSON library on: saved plans are
// serialized with it; its unused static functions do not warn). Heavy to compile: include it only
// in the files that build cuDNN graphs (conv/, attention.cpp).
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <cudnn_frontend.h>
#pragma GCC diagnostic pop
