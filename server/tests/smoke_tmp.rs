#[tokio::test]
async fn t() {
    let _ = zookeeper_client::Client::connector();
}
