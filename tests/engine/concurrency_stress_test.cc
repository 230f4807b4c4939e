// Many writer threads with readers in other processes: being written.
