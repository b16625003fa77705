// placeholder so the CUDA library has a source until kernels exist
