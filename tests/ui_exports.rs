//! The workflows of the trybuild pass cases (`tests/ui/pass/`), whose own
//! runs only compile and start them, and of the benchmarks, checked here by
//! the export tools too.

macro_rules! pass_case {
    ($name:ident, $path:literal) => {
        #[allow(dead_code, unused_imports, clippy::ptr_arg)]
        #[path = $path]
        mod $name;
    };
}

pass_case!(choice_scoping, "ui/pass/choice_scoping.rs");
pass_case!(every_option, "ui/pass/every_option.rs");
pass_case!(every_state_kind, "ui/pass/every_state_kind.rs");
pass_case!(minimal, "ui/pass/minimal.rs");
pass_case!(parallel_and_map_end, "ui/pass/parallel_and_map_end.rs");
pass_case!(reference_checkout, "ui/pass/reference_checkout.rs");
// The benchmarks' workflow, too.
pass_case!(ten, "../benches/common/ten.rs");

#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(
    choice_scoping::shop::Sort,
    every_option::Pay,
    every_state_kind::Kinds,
    every_state_kind::Square,
    every_state_kind::Halve,
    minimal::Hello,
    parallel_and_map_end::Batch,
    parallel_and_map_end::Job,
    reference_checkout::Checkout,
    reference_checkout::PackItem,
    reference_checkout::Invoice,
    reference_checkout::EmailCustomer,
    ten::Ten,
);
