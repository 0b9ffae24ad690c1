// A dyn.moe at the top level of a file that does not parse: the dyn
// attribute opens a new slab of the context's allocator in instrumented code,
// which Debian's libMLIR then fills without unpoisoning (./dev sets
// ASAN_OPTIONS=allow_user_poisoning=0 for that reason).
%y = dyn.moe %x router(%r) w1(%w1) w2(%w2) {top_k = 4 : i64, normalize = true, activation = #dyn.activation<relu>}
