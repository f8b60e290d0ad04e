//! Choice enums resolve their targets' data types where the workflow's
//! author wrote them: a choice state may share its name with a data type,
//! and data types may be named by relative paths.
#![deny(warnings)]

use workflow::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Order(pub u32);

pub mod types {
    #[derive(Debug, Clone, PartialEq)]
    pub struct Payment(pub u32);
}

pub mod shop {
    use workflow::prelude::*;

    // `Order` is both a data type (from the parent) and a choice state.
    #[workflow]
    pub enum Sort {
        #[start]
        #[choice(sort, next = [Small, Large])]
        Order(super::Order),
        #[pass(pay, next = Paid)]
        Small(super::Order),
        #[pass(pay, next = Paid)]
        Large(super::Order),
        #[succeed]
        Paid(super::types::Payment),
    }

    fn sort(order: super::Order) -> sort::Order {
        if order.0 < 10 {
            sort::Order::Small(order)
        } else {
            sort::Order::Large(order)
        }
    }

    fn pay(order: super::Order) -> super::types::Payment {
        super::types::Payment(order.0 * 2)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let paid = runtime.block_on(shop::Sort::run(&(), Order(21))).unwrap();
    assert_eq!(paid, types::Payment(42));
}
