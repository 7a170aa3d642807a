//! The page's views and widgets, one file each.

pub mod deliveries;
pub mod hook_editor;
pub mod hooks_list;
pub mod problem_list;
pub mod sign_in;
