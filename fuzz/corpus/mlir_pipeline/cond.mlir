func.func @forward(%p: tensor<?xi1> {dyn.name = "p", dyn.shape = ["B"]}, %x: tensor<?x4xf32> {dyn.name = "x", dyn.shape = ["B", 4]}) -> (tensor<?x4xf32> {dyn.name = "y"}) attributes {dyn.dims = {B = array<i64: 1, 8>}} {
  %r = dyn.cond %p (%x) : tensor<?xi1>, (tensor<?x4xf32>) -> tensor<?x4xf32> then {
  ^bb0(%a: tensor<?x4xf32>):
    %e = math.exp %a : tensor<?x4xf32>
    dyn.yield %e : tensor<?x4xf32>
  } else {
  ^bb0(%a: tensor<?x4xf32>):
    dyn.yield %a : tensor<?x4xf32>
  }
  return %r : tensor<?x4xf32>
}
