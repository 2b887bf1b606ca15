// SPDX-License-Identifier: GPL-3.0
// GENERATED FILE - DO NOT EDIT. Produced by scripts/build-circuits.ts from circuits/circuits.json
// instance "dense32x32" (Int8DenseHead(N=32, M=32, SHIFT=35)),
// with snarkjs' Groth16 verifier template (GPL-3.0, below). DEVELOPMENT CEREMONY ONLY: the keys
// come from public beacons, anyone can forge proofs; production needs a multi-party ceremony.
/*
    Copyright 2021 0KIMS association.

    This file is generated with [snarkJS](https://github.com/iden3/snarkjs).

    snarkJS is a free software: you can redistribute it and/or modify it
    under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.

    snarkJS is distributed in the hope that it will be useful, but WITHOUT
    ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
    or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public
    License for more details.

    You should have received a copy of the GNU General Public License
    along with snarkJS. If not, see <https://www.gnu.org/licenses/>.
*/

pragma solidity >=0.7.0 <0.9.0;

contract Dense32x32Verifier {
    // Scalar field size
    uint256 constant r    = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    // Base field size
    uint256 constant q   = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // Verification Key data
    uint256 constant alphax  = 5646592293311941251220403812530407761888989077354520019633020062802072150958;
    uint256 constant alphay  = 9311200768405862986155866311086091859957952039924624416379534311389346370733;
    uint256 constant betax1  = 15882941826421096912978995454803677895166545449588721887839915982408929860357;
    uint256 constant betax2  = 9369446229301956601332659331637667441701569061794885397022068378142712798356;
    uint256 constant betay1  = 695109028004607908456486166888820262684394007621269851757824260246585019259;
    uint256 constant betay2  = 4331129829965068525481212455944305508818657114123844350683363354903914127879;
    uint256 constant gammax1 = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 constant gammax2 = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 constant gammay1 = 4082367875863433681332203403145435568316851327593401208105741076214120093531;
    uint256 constant gammay2 = 8495653923123431417604973247489272438418190587263600148770280649306958101930;
    uint256 constant deltax1 = 2495478614338638892234398478576444502051461303617071541262352081459368678197;
    uint256 constant deltax2 = 16051260093380524562759775503821906050410418879832066561251191972809017649117;
    uint256 constant deltay1 = 13345009080757929323657610016385035950608789690341252645344649837519679600743;
    uint256 constant deltay2 = 1363228040410624841534280027299931453186564157479780878446863274335974884690;

    
    uint256 constant IC0x = 13554131380433707394012844691918944490210727328129350716680275572991962552308;
    uint256 constant IC0y = 9028918163216179531700664856969426458399445557891312025160196199933011242399;
    
    uint256 constant IC1x = 9580937394880594497158048007050500227792500614994688322039363066016758459579;
    uint256 constant IC1y = 15130240271757677417220848224179582566257150969240537563298401966169763338643;
    
    uint256 constant IC2x = 10175153641026425150328013478506443307472385236554056299095692652706478085284;
    uint256 constant IC2y = 6776898592395813641263391926864688115048709262743461931994854130787114410497;
    
    uint256 constant IC3x = 6540544435812535949752755699434413072088855460580276084709261384054436343406;
    uint256 constant IC3y = 15623795414576170338662460310722356805588198995497944903225472794015942684432;
    
    uint256 constant IC4x = 9632984867669881759246825232504363801782503272739120665946398542867268871535;
    uint256 constant IC4y = 4271694254850329494197614817943489764821849669729382296192075449895251331126;
    
    uint256 constant IC5x = 10219627800011301695200517676538239167196628250746692462575808101963501852535;
    uint256 constant IC5y = 2872008695127589118051398905491506869966625204335861720147671907659129119728;
    
 
    // Memory data
    uint16 constant pVk = 0;
    uint16 constant pPairing = 128;

    uint16 constant pLastMem = 896;

    function verifyProof(uint[2] calldata _pA, uint[2][2] calldata _pB, uint[2] calldata _pC, uint[5] calldata _pubSignals) public view returns (bool) {
        assembly {
            function checkField(v) {
                if iszero(lt(v, r)) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }
            
            // G1 function to multiply a G1 value(x,y) to value in an address
            function g1_mulAccC(pR, x, y, s) {
                let success
                let mIn := mload(0x40)
                mstore(mIn, x)
                mstore(add(mIn, 32), y)
                mstore(add(mIn, 64), s)

                success := staticcall(sub(gas(), 2000), 7, mIn, 96, mIn, 64)

                if iszero(success) {
                    mstore(0, 0)
                    return(0, 0x20)
                }

                mstore(add(mIn, 64), mload(pR))
                mstore(add(mIn, 96), mload(add(pR, 32)))

                success := staticcall(sub(gas(), 2000), 6, mIn, 128, pR, 64)

                if iszero(success) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }

            function checkPairing(pA, pB, pC, pubSignals, pMem) -> isOk {
                let _pPairing := add(pMem, pPairing)
                let _pVk := add(pMem, pVk)

                mstore(_pVk, IC0x)
                mstore(add(_pVk, 32), IC0y)

                // Compute the linear combination vk_x
                
                g1_mulAccC(_pVk, IC1x, IC1y, calldataload(add(pubSignals, 0)))
                
                g1_mulAccC(_pVk, IC2x, IC2y, calldataload(add(pubSignals, 32)))
                
                g1_mulAccC(_pVk, IC3x, IC3y, calldataload(add(pubSignals, 64)))
                
                g1_mulAccC(_pVk, IC4x, IC4y, calldataload(add(pubSignals, 96)))
                
                g1_mulAccC(_pVk, IC5x, IC5y, calldataload(add(pubSignals, 128)))
                

                // -A
                mstore(_pPairing, calldataload(pA))
                mstore(add(_pPairing, 32), mod(sub(q, calldataload(add(pA, 32))), q))

                // B
                mstore(add(_pPairing, 64), calldataload(pB))
                mstore(add(_pPairing, 96), calldataload(add(pB, 32)))
                mstore(add(_pPairing, 128), calldataload(add(pB, 64)))
                mstore(add(_pPairing, 160), calldataload(add(pB, 96)))

                // alpha1
                mstore(add(_pPairing, 192), alphax)
                mstore(add(_pPairing, 224), alphay)

                // beta2
                mstore(add(_pPairing, 256), betax1)
                mstore(add(_pPairing, 288), betax2)
                mstore(add(_pPairing, 320), betay1)
                mstore(add(_pPairing, 352), betay2)

                // vk_x
                mstore(add(_pPairing, 384), mload(add(pMem, pVk)))
                mstore(add(_pPairing, 416), mload(add(pMem, add(pVk, 32))))


                // gamma2
                mstore(add(_pPairing, 448), gammax1)
                mstore(add(_pPairing, 480), gammax2)
                mstore(add(_pPairing, 512), gammay1)
                mstore(add(_pPairing, 544), gammay2)

                // C
                mstore(add(_pPairing, 576), calldataload(pC))
                mstore(add(_pPairing, 608), calldataload(add(pC, 32)))

                // delta2
                mstore(add(_pPairing, 640), deltax1)
                mstore(add(_pPairing, 672), deltax2)
                mstore(add(_pPairing, 704), deltay1)
                mstore(add(_pPairing, 736), deltay2)


                let success := staticcall(sub(gas(), 2000), 8, _pPairing, 768, _pPairing, 0x20)

                isOk := and(success, mload(_pPairing))
            }

            let pMem := mload(0x40)
            mstore(0x40, add(pMem, pLastMem))

            // Validate that all evaluations ∈ F
            
            checkField(calldataload(add(_pubSignals, 0)))
            
            checkField(calldataload(add(_pubSignals, 32)))
            
            checkField(calldataload(add(_pubSignals, 64)))
            
            checkField(calldataload(add(_pubSignals, 96)))
            
            checkField(calldataload(add(_pubSignals, 128)))
            

            // Validate all evaluations
            let isValid := checkPairing(_pA, _pB, _pC, _pubSignals, pMem)

            mstore(0, isValid)
             return(0, 0x20)
         }
     }
 }
