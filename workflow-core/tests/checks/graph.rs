//! The graph: reachability, a way to an end, and cycles of Pass states.

use super::*;

#[test]
fn one_unreachable_state() {
    let definition = def("Start", vec![task_end("Start"), succeed("Orphan")]);
    assert_eq!(check(&definition), vec![unreachable("Orphan")]);
}

#[test]
fn several_unreachable_states_in_declaration_order() {
    // `B` is reached only from the unreachable `A`; `X` and `Y` loop forever but,
    // being unreachable, are not also reported as having no way to end.
    let definition = def(
        "Start",
        vec![
            task("A", "B"),
            task("Start", "Done"),
            succeed("B"),
            succeed("Done"),
            task("X", "Y"),
            fail("C"),
            task("Y", "X"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            unreachable("A"),
            unreachable("B"),
            unreachable("X"),
            unreachable("C"),
            unreachable("Y"),
        ]
    );
}

#[test]
fn a_state_reached_only_through_a_catch_is_reachable() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task_end("Start"),
                vec![catcher(vec![ErrorMatcher::Any], "Handle")],
            ),
            task("Handle", "Failed"),
            fail("Failed"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_state_reached_only_through_a_later_catcher_is_reachable() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task_end("Start"),
                vec![
                    catcher(vec![named("E.One")], "First"),
                    catcher(vec![ErrorMatcher::Any], "Second"),
                ],
            ),
            fail("First"),
            fail("Second"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn the_start_need_not_be_declared_first() {
    let definition = def("Start", vec![succeed("Done"), task("Start", "Done")]);
    assert_eq!(check(&definition), vec![]);
}

// A way to end

#[test]
fn a_loop_with_no_exit_is_reported_at_its_entry_only() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Done", "A"]),
            task("A", "B"),
            task("B", "C"),
            task("C", "A"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![no_way_to_end("A")]);
}

#[test]
fn a_stuck_start_is_reported_once() {
    // Everything reachable from a stuck start is stuck too; only the start is named.
    let definition = def("Start", vec![task("Start", "Loop"), task("Loop", "Start")]);
    assert_eq!(check(&definition), vec![no_way_to_end("Start")]);
}

#[test]
fn a_stuck_region_with_two_entries_is_reported_at_each() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Done", "A", "B"]),
            task("A", "B"),
            task("B", "A"),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![no_way_to_end("A"), no_way_to_end("B")]
    );
}

#[test]
fn a_task_self_loop_has_no_way_to_end() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Spin", "Done"]),
            task("Spin", "Spin"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![no_way_to_end("Spin")]);
}

#[test]
fn a_task_that_ends_counts_as_an_end() {
    let definition = def("Start", vec![task("Start", "Last"), task_end("Last")]);
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_loop_whose_task_ends_is_fine() {
    // No Succeed or Fail at all: the only end is a task's `end`.
    let definition = def(
        "Start",
        vec![
            task("Start", "Check"),
            choice("Check", &["Start", "Finish"]),
            task_end("Finish"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_choice_loop_with_one_exit_is_fine() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Check"),
            choice("Check", &["Work", "Done"]),
            task("Work", "Check"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_choice_loop_with_no_exit_is_stuck() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Done", "Check"]),
            choice("Check", &["Work"]),
            task("Work", "Check"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![no_way_to_end("Check")]);
}

#[test]
fn a_wait_loop_with_an_exit_is_fine() {
    let definition = def(
        "Poll",
        vec![
            task("Poll", "Ready"),
            choice("Ready", &["Sleep", "Done"]),
            wait("Sleep", "Poll"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_wait_loop_with_no_exit_is_stuck_but_not_a_pass_cycle() {
    let definition = def("Sleep", vec![wait("Sleep", "Nap"), wait("Nap", "Sleep")]);
    assert_eq!(check(&definition), vec![no_way_to_end("Sleep")]);
}

#[test]
fn a_loop_whose_only_exit_is_a_catch_is_fine() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task("Start", "Again"),
                vec![catcher(vec![ErrorMatcher::Any], "Failed")],
            ),
            task("Again", "Start"),
            fail("Failed"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

// Pass cycles

#[test]
fn a_cycle_of_two_pass_states() {
    // `Start` can never end either, but one message is enough.
    let definition = def(
        "Start",
        vec![task("Start", "P1"), pass("P1", "P2"), pass("P2", "P1")],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["P1", "P2"])]);
}

#[test]
fn a_pass_cycle_is_listed_from_its_first_declared_member() {
    // Entered at `A`, but `B` is declared first.
    let definition = def(
        "Start",
        vec![task("Start", "A"), pass("B", "A"), pass("A", "B")],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["B", "A"])]);
}

#[test]
fn a_cycle_of_three_pass_states_entered_through_a_pass_chain() {
    // `Lead` leads into the cycle but is not part of it.
    let definition = def(
        "Lead",
        vec![
            pass("Lead", "P1"),
            pass("P1", "P2"),
            pass("P2", "P3"),
            pass("P3", "P1"),
        ],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["P1", "P2", "P3"])]);
}

#[test]
fn a_pass_cycle_in_reverse_declaration_order() {
    let definition = def(
        "P1",
        vec![pass("P3", "P1"), pass("P2", "P3"), pass("P1", "P2")],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["P3", "P1", "P2"])]);
}

#[test]
fn a_pass_state_that_loops_to_itself() {
    let definition = def("Start", vec![pass("Start", "Start")]);
    assert_eq!(check(&definition), vec![pass_cycle(&["Start"])]);
}

#[test]
fn two_separate_pass_cycles_are_each_reported_once() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["A", "C"]),
            pass("A", "B"),
            pass("B", "A"),
            pass("C", "C"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![pass_cycle(&["A", "B"]), pass_cycle(&["C"])]
    );
}

#[test]
fn a_cycle_through_a_pass_and_a_task_is_not_a_pass_cycle() {
    let definition = def("Start", vec![task("Start", "P"), pass("P", "Start")]);
    assert_eq!(check(&definition), vec![no_way_to_end("Start")]);
}

#[test]
fn a_pass_loop_with_a_choice_exit_is_fine() {
    let definition = def(
        "Start",
        vec![
            pass("Start", "Route"),
            choice("Route", &["Start", "Done"]),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_pass_cycle_does_not_hide_an_unrelated_loop_with_no_exit() {
    // `A -> B -> A` is a task loop with no exit, unrelated to the pass cycle.
    let definition = def(
        "Start",
        vec![
            choice("Start", &["P1", "A", "Done"]),
            pass("P1", "P2"),
            pass("P2", "P1"),
            task("A", "B"),
            task("B", "A"),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![pass_cycle(&["P1", "P2"]), no_way_to_end("A")]
    );
}

#[test]
fn an_unreachable_pass_cycle_does_not_hide_a_reachable_stuck_start() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Loop"),
            task("Loop", "Start"),
            pass("O1", "O2"),
            pass("O2", "O1"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            unreachable("O1"),
            unreachable("O2"),
            pass_cycle(&["O1", "O2"]),
            no_way_to_end("Start"),
        ]
    );
}
