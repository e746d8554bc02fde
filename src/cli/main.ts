console.log("s2-lite");
