// KILN_VECTOR_CLONES: compiles a hot O(vocabulary) loop twice on x86-64, for the baseline target
// and for AVX2, and picks one at load time (GCC/Clang target_clones). The loops are written for
// auto-vectorization, and the AVX2 copy roughly halves their cost on a 128k vocabulary.
#pragma once

// Both copies give bit-identical results: the loops are element-wise or keep a fixed order of
// additions, and ISO C++ mode (-std=c++20) compiles with -ffp-contract=off, so no FMA is fused
// in. A seed therefore reproduces the same tokens on machines with and without AVX2.
// Not under ThreadSanitizer: the clones' ifunc resolvers run while the dynamic loader relocates
// the program, before the TSan runtime is set up, and crash it at startup.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(KILN_NO_CLONES) && !defined(__SANITIZE_THREAD__)
#define KILN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KILN_VECTOR_CLONES
#endif
