//! End to end: a large contact list is imported without holding its contacts in memory
//! beside the uploaded file.

use callout_e2e::Server;

#[tokio::test]
async fn large_import_memory_stays_near_file_size() {
    const CONTACTS: usize = 150_000;
    let server = Server::start();
    let api = server.admin_api();
    let mut csv = String::from("name,phone,email,city\n");
    for number in 0..CONTACTS {
        csv.push_str(&format!(
            "Contact {number:07},+1555{number:07},contact{number}@example.com,Springfield\n"
        ));
    }
    let file_kib = csv.len() as u64 / 1024;
    let before = server
        .peak_memory_kib()
        .expect("/proc reports the server's memory");

    let list = api.import_list("Large", &csv).await;

    assert_eq!(list.contacts, CONTACTS as u64);
    let after = server
        .peak_memory_kib()
        .expect("/proc reports the server's memory");
    let grown_kib = after.saturating_sub(before);
    // The body itself is held once. Contacts parsed into fields all at once took more than
    // four times the file's size.
    assert!(
        grown_kib < 2 * file_kib + 16 * 1024,
        "the server's peak memory grew by {grown_kib} KiB for a file of {file_kib} KiB"
    );
}
