// `trace`'s gate: a quick probe of the required kernel features (check's
// requirement table) before anything is loaded, so that a kernel lacking one is
// refused with a line naming the feature and the first kernel that has it,
// instead of a verifier error halfway through loading.
#pragma once

namespace difftrace::check {

// Throws FatalError(kEnvironment), one line per missing required feature.
void require_kernel_features();

}  // namespace difftrace::check
