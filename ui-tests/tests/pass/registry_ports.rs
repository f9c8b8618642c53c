// Registering and looking up the ports that may be registered: a generated
// port, a `SendPort` of plain data, and a `#[message]` wrapper of one's own.
use isolate_core::prelude::*;
use isolate_core::Port;

#[isolate]
pub struct Config {
    debug: bool,
}

#[isolate]
impl Config {
    #[message]
    fn debug(&self) -> bool {
        self.debug
    }
}

/// A port with a label: `Sendable` because `#[message]` checked it.
#[message]
#[derive(Clone)]
pub struct Labelled {
    label: String,
    port: SendPort<String>,
}

impl Port for Labelled {
    type Message = String;

    fn as_send_port(&self) -> &SendPort<String> {
        &self.port
    }
}

fn main() {
    let group = IsolateGroup::new();
    let config = group.spawn(Config { debug: true });
    group.register("config", &config).unwrap();
    let found: ConfigPort = group.lookup("config").unwrap();
    assert_eq!(found.debug().wait(), Ok(true));

    let mut inbox = ReceivePort::<String>::new();
    group.register("inbox", &inbox.send_port()).unwrap();
    let labelled = Labelled {
        label: "log".to_owned(),
        port: inbox.send_port(),
    };
    group.register("labelled", &labelled).unwrap();
    let found: Labelled = group.lookup("labelled").unwrap();
    assert_eq!(found.label, "log");
    found.as_send_port().send("hello".to_owned()).unwrap();
    assert_eq!(inbox.recv(), Ok("hello".to_owned()));
}
