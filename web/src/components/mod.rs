//! The page's views and widgets, one file each.

pub mod chart;
pub mod copy_button;
pub mod deliveries;
pub mod hook_editor;
pub mod hooks_list;
pub mod lists;
pub mod preview;
pub mod problem_list;
pub mod sign_in;
pub mod test_fire;
pub mod url_field;
